import requests

url = "https://idv-eu.kairos.com/v0.2/full-id-verification"
files=[
    ('selfie',('file',open('/path/to/selfie_image','rb'))),
    ('document',('file',open('/path/to/document_image','rb'))),
    ('document_back',('file',open('/path/to/document_back_image','rb')))
]
headers = {
    'app_id': 'put_app_id_here',
    'app_key': 'put_app_key_here'
}
response = requests.request("POST", url, headers=headers, files=files)
