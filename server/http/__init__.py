"""HTTP plumbing shared by the layers above: JSON errors, request and response models, the route table
every JSON route is declared in, and the OpenAPI document built from that table."""
