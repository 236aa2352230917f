"""collab-gateway: share PaaS environments with collaborators."""
