"""The staff console's shell: access checks, navigation and the page layout."""
