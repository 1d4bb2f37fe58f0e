"""Pure Block Kit builders, one module per surface; ``common`` holds what they share."""
