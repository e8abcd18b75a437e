"""The centre views: each draws one aspect of the document's results."""
