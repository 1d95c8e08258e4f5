"""Customer sign-off of a resolved case and its sealed case record bundle (``Session.signoff``)."""
