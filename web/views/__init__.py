"""Pages, one module per audience or resource; templates mirror them under templates/web/."""
