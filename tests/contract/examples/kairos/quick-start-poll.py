import requests

# Specify the api_req_uuid directly
api_req_uuid = 'put_uuid_from_first_api_response'

# Base URL
url = f"https://idv-eu.kairos.com/v0.1/full-id-verification/{api_req_uuid}"

headers = {
    'app_id': 'put_app_id_here',
    'app_key': 'put_app_key_here'
}

response = requests.request("GET", url, headers=headers)
