import requests

url = "https://idv-eu.kairos.com/v0.2/biometric-verification"
files=[
    ('selfie',('file',open('/path/to/selfie_image','rb'))),
    ('image',('file',open('/path/to/photo_image','rb')))
]
headers = {
    'app_id': 'put_app_id_here',
    'app_key': 'put_app_key_here'
}

response = requests.request("POST", url, headers=headers, files=files)

