"""Server-rendered pages, one module per area of work. Thin: the permission helper, one
service call or read model, a template; domain errors become messages or field errors."""
