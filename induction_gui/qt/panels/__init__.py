"""The dock panels: editors on the left and right of the centre views."""
