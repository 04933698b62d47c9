curl -X POST --location 'https://idv-eu.kairos.com/v0.2/biometric-verification' \
--header 'app_id: put_app_id_here' \
--header 'app_key: put_app_key_here' \
--form 'selfie=@"/path/to/selfie_image"' \
--form 'image=@"/path/to/photo_image"'
