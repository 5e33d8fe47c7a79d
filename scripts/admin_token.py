"""Waits for the local stack at URL to answer, logs in, and prints the ID token."""

import json
import sys
import time
import urllib.request

url, email, password = sys.argv[1:4]
for _ in range(300):
    try:
        urllib.request.urlopen(f"{url}/health")
        break
    except OSError:
        time.sleep(0.2)
request = urllib.request.Request(
    f"{url}/api/auth/login",
    data=json.dumps({"email": email, "password": password}).encode(),
    headers={"content-type": "application/json"},
)
print(json.load(urllib.request.urlopen(request))["id_token"])
