"""Handing registrations over to BPJS Ketenagakerjaan (issue 29): the port both adapters
implement (port.py), the branch batch file (batch.py), the partner API client
(api_client.py) and the submission records they all move (submissions.py)."""
