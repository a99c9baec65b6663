//! PLACEHOLDER (being written): security mailing lists.
