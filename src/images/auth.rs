//! PLACEHOLDER (being written): registry credentials and auth challenges.
