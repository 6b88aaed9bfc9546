//! Model -> executable deployment (compiled expressions, executability checks).
