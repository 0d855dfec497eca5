"""What goes on the wire and comes back: encoding a call's parameters (``encode``) and
reading an answer's body within its bounds (``read``)."""
