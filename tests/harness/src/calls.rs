//! Counts the AWS operations the service makes (an SDK interceptor on its clients), and
//! can make one operation fail, to inject faults mid-request.

use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

#[derive(Clone, Debug, Default)]
pub struct CallLog {
    calls: Arc<Mutex<Vec<String>>>,
    failing: Arc<Mutex<Option<String>>>,
}

impl CallLog {
    /// The operations made since the last call, as `Service.Operation`, and forgets them.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut self.calls.lock().unwrap())
    }

    /// Makes every later call of `operation` (e.g. `DynamoDB.TransactWriteItems`) fail.
    pub fn fail(&self, operation: &str) {
        *self.failing.lock().unwrap() = Some(operation.to_owned());
    }

    pub fn heal(&self) {
        *self.failing.lock().unwrap() = None;
    }
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "CallLog"
    }

    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg
            .load::<Metadata>()
            .map(|m| format!("{}.{}", m.service(), m.name()))
            .unwrap_or_else(|| "unknown".to_owned());
        let fail = self.failing.lock().unwrap().as_deref() == Some(operation.as_str());
        self.calls.lock().unwrap().push(operation);
        if fail {
            return Err("injected fault".into());
        }
        Ok(())
    }
}
