"""A statement as its readers get it: the PDF of an account's month, finance's workbook."""
