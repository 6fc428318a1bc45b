"""What is installed, and for which runtime: the interpreter and how it was chosen, the
distributions of its environment, editable installs, the Lambda target, and what the
Lambda runtime itself provides."""
