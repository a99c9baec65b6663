//! PLACEHOLDER (being written): rpm databases.
