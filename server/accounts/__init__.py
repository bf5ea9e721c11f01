"""Counselor accounts: the account repository, password hashing, login cookies and CSRF, the login and
account endpoints, and the ``attune create-counselor`` command."""
