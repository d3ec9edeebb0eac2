"""Programs stdc runs outside Python, shipped as source and built on first use."""
