"""Default policy content (basic policy and requirement catalogue) and its pure-Python loader."""
