"""What the service tried to tell people on the owner's behalf, and what it could not."""
