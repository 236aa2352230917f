"""Business rules shared by the API, the invitation page and the workers.

Nothing here imports GraphQL, Starlette, arq or SMTP: the rules stay testable on their own.
"""
