//! The async job plumbing: slow work runs as a [`Job`] on the libuv pool and resolves a Promise;
//! its failures become structured errors back on the JS thread. Plus the plain values jobs hand
//! over: JSON reports, and input bytes copied for the pool.

use napi::Env;
use napi::bindgen_prelude::*;

use crate::errors::Failure;

/// A Buffer or string from JavaScript as bytes a job can own (a copy: the job runs off the JS
/// thread, and the caller may change its Buffer meanwhile).
pub(crate) fn bytes_of(raw: Either<Buffer, String>) -> Vec<u8> {
    match raw {
        Either::A(b) => b.to_vec(),
        Either::B(s) => s.into_bytes(),
    }
}

/// Work for the libuv thread pool: runs `work` off the JS thread, then turns its value into a
/// JavaScript value with `to_js` (on the JS thread), or its failure into a structured `Error`.
pub struct Job<T: Send + 'static, J> {
    work: Option<Box<dyn FnOnce() -> std::result::Result<T, Failure> + Send>>,
    to_js: fn(&Env, T) -> Result<J>,
    failure: Option<Failure>,
}

impl<T: Send + 'static, J> Job<T, J> {
    /// A task for `AsyncTask::new`.
    pub(crate) fn new(
        work: impl FnOnce() -> std::result::Result<T, Failure> + Send + 'static,
        to_js: fn(&Env, T) -> Result<J>,
    ) -> AsyncTask<Job<T, J>>
    where
        J: ToNapiValue + TypeName,
    {
        AsyncTask::new(Job { work: Some(Box::new(work)), to_js, failure: None })
    }
}

impl<T: Send + 'static, J: ToNapiValue + TypeName> Task for Job<T, J> {
    type Output = T;
    type JsValue = J;

    fn compute(&mut self) -> Result<T> {
        let work = self.work.take().ok_or_else(|| Error::from_reason("task ran twice"))?;
        work().map_err(|f| {
            let e = Error::from_reason(f.message.clone());
            self.failure = Some(f);
            e
        })
    }

    fn resolve(&mut self, env: Env, output: T) -> Result<J> {
        (self.to_js)(&env, output)
    }

    fn reject(&mut self, env: Env, err: Error) -> Result<J> {
        match self.failure.take() {
            Some(f) => Err(f.into_js(&env)),
            None => Err(err),
        }
    }
}

/// `to_js` for values that convert as they are.
pub(crate) fn same<T>(_: &Env, v: T) -> Result<T> {
    Ok(v)
}

/// A JSON value handed to JavaScript as a plain object (reports, manifests).
pub struct Json(pub(crate) serde_json::Value);

impl TypeName for Json {
    fn type_name() -> &'static str {
        "Object"
    }
    fn value_type() -> ValueType {
        ValueType::Object
    }
}

impl ToNapiValue for Json {
    unsafe fn to_napi_value(env: napi::sys::napi_env, val: Self) -> Result<napi::sys::napi_value> {
        unsafe { serde_json::Value::to_napi_value(env, val.0) }
    }
}
