"""Reading a program folder: encodings, Japanese headers, table schemas, the program loader."""
