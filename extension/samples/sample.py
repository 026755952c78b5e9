import os


def list_python_files(root):
    """Return the paths of the .py files under root."""
    found = []
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            
    return found
