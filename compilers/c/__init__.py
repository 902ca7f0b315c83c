"""The C emitter and the runtime shim that generated code links against."""
