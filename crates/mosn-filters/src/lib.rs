//! Built-in stream filters and the factory that builds a listener's chain from config.
//!
//! A new filter is a type implementing [`mosn_api::filter::StreamFilter`], a config
//! variant in `mosn_config::StreamFilterConfig`, and one arm in [`build_chain`].
#![forbid(unsafe_code)]

mod ip_access;

pub use ip_access::IpAccessFilter;

use mosn_api::filter::StreamFilter;
use mosn_config::StreamFilterConfig;

/// Builds the filters of one listener, in config order.
pub fn build_chain(configs: &[StreamFilterConfig]) -> Vec<Box<dyn StreamFilter>> {
    configs
        .iter()
        .map(|c| -> Box<dyn StreamFilter> {
            match c {
                StreamFilterConfig::IpAccess(cfg) => Box::new(IpAccessFilter::new(cfg.clone())),
            }
        })
        .collect()
}
