//! [`Tool`]: a function the LLM may call, with a JSON Schema for its arguments.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::client::ToolSpec;
use crate::handoff::ReplyResult;

/// What a tool gives back: a [`ReplyResult`] (its text for the LLM, and maybe where the
/// conversation goes next), or an error message for the LLM (the model sees `Error: …` and can
/// try again).
pub type ToolOutput = Result<ReplyResult, String>;

type Handler = Arc<dyn Fn(Value) -> BoxFuture<'static, ToolOutput> + Send + Sync>;

/// A tool: name, description, parameters as JSON Schema, and an async handler.
///
/// ```
/// use agent_core::Tool;
/// use schemars::JsonSchema;
/// use serde::Deserialize;
///
/// #[derive(Deserialize, JsonSchema)]
/// struct Add {
///     /// First number.
///     a: f64,
///     /// Second number.
///     b: f64,
/// }
///
/// let add = Tool::from_async_fn("add", "Adds two numbers.", |args: Add| async move { args.a + args.b });
/// assert_eq!(add.spec().parameters["required"], serde_json::json!(["a", "b"]));
/// let runtime = tokio::runtime::Builder::new_current_thread().build()?;
/// assert_eq!(runtime.block_on(add.call(r#"{"a": 1, "b": 2}"#))?.message, "3");
/// assert!(runtime.block_on(add.call(r#"{"a": "one"}"#)).unwrap_err().starts_with("invalid arguments"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Tool {
    spec: ToolSpec,
    handler: Handler,
}

impl fmt::Debug for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tool").field("name", &self.spec.name).finish_non_exhaustive()
    }
}

/// Turns what a tool function returns into the tool's output.
pub trait IntoToolOutput {
    /// The output.
    fn into_tool_output(self) -> ToolOutput;
}

impl IntoToolOutput for ReplyResult {
    fn into_tool_output(self) -> ToolOutput {
        Ok(self)
    }
}

impl IntoToolOutput for String {
    fn into_tool_output(self) -> ToolOutput {
        Ok(ReplyResult::new(self))
    }
}

impl IntoToolOutput for &'static str {
    fn into_tool_output(self) -> ToolOutput {
        Ok(ReplyResult::new(self))
    }
}

impl IntoToolOutput for f64 {
    fn into_tool_output(self) -> ToolOutput {
        Ok(ReplyResult::new(self.to_string()))
    }
}

impl IntoToolOutput for Value {
    fn into_tool_output(self) -> ToolOutput {
        Ok(ReplyResult::new(self.to_string()))
    }
}

impl<T: IntoToolOutput, E: fmt::Display> IntoToolOutput for Result<T, E> {
    fn into_tool_output(self) -> ToolOutput {
        match self {
            Ok(value) => value.into_tool_output(),
            Err(err) => Err(err.to_string()),
        }
    }
}

impl Tool {
    /// A tool from its parts: `handler` gets the arguments as JSON.
    pub fn new<F, Fut, R>(
        name: impl Into<String>,
        description: impl Into<String>,
        parameters: Value,
        handler: F,
    ) -> Tool
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: IntoToolOutput,
    {
        let handler = Arc::new(handler);
        let handler: Handler = Arc::new(move |args| {
            let handler = handler.clone();
            Box::pin(async move { handler(args).await.into_tool_output() })
        });
        Tool {
            spec: ToolSpec { name: name.into(), description: description.into(), parameters },
            handler,
        }
    }

    /// A tool from an async function of a typed argument struct; its JSON Schema comes from
    /// `schemars`, and arguments that do not fit it go back to the LLM as an error.
    pub fn from_async_fn<A, F, Fut, R>(
        name: impl Into<String>,
        description: impl Into<String>,
        function: F,
    ) -> Tool
    where
        A: DeserializeOwned + JsonSchema + Send + 'static,
        F: Fn(A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: IntoToolOutput,
    {
        let mut parameters = schemars::schema_for!(A).to_value();
        if let Some(object) = parameters.as_object_mut() {
            // The schema dialect and title mean nothing to an LLM.
            object.remove("$schema");
            object.remove("title");
        }
        let function = Arc::new(function);
        Tool::new(name, description, parameters, move |args: Value| {
            let function = function.clone();
            async move {
                match serde_json::from_value::<A>(args) {
                    Ok(args) => function(args).await.into_tool_output(),
                    Err(err) => Err(format!("invalid arguments: {err}")),
                }
            }
        })
    }

    /// The name, description and parameters the LLM sees.
    pub fn spec(&self) -> &ToolSpec {
        &self.spec
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// Calls the tool with the arguments as the LLM wrote them (JSON text).
    pub async fn call(&self, arguments: &str) -> ToolOutput {
        let arguments = if arguments.trim().is_empty() { "{}" } else { arguments };
        let value: Value = serde_json::from_str(arguments)
            .map_err(|err| format!("the arguments are not valid JSON: {err}"))?;
        (self.handler)(value).await
    }
}
