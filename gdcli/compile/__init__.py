"""The compiled accelerator: generated code (`codegen`), its allow-list verifier
(`verify`), the object that runs it (`runtime`), the on-disk cache (`cache`) and
the quick path of a repeated call (`load`). Used by the reports; it imports only
the layers below it."""
