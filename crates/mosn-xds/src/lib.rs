//! Envoy xDS v3 for mosn: an Envoy bootstrap as a start-up configuration, the ADS client
//! (SotW and Delta) that keeps the live configuration in step with a control plane, and
//! the conversion of Envoy's resources into mosn's model, each refused field named so a
//! NACK can say what is wrong.

pub mod ads;
pub mod bootstrap;
pub mod convert;
pub mod dump;
pub mod proto;
