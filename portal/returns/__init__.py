"""The returns list: people returned to France under the scheme, who are not eligible."""
