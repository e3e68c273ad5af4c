//! Built-in stream filters and the factory that builds a listener's chain from config.
//!
//! A new filter is a type implementing [`mosn_api::filter::StreamFilter`], a config
//! variant in `mosn_config::StreamFilterConfig`, and one arm in [`build_chain`].
#![forbid(unsafe_code)]

mod ip_access;

pub use ip_access::IpAccessFilter;

use mosn_api::filter::StreamFilter;
use mosn_config::StreamFilterConfig;

/// Builds the filters of one listener, in config order. The `transcoder` is not among
/// them: it changes the protocol requests go upstream in, so the HTTP proxy takes it
/// itself.
pub fn build_chain(configs: &[StreamFilterConfig]) -> Vec<Box<dyn StreamFilter>> {
    configs
        .iter()
        .filter_map(|c| -> Option<Box<dyn StreamFilter>> {
            match c {
                StreamFilterConfig::IpAccess(cfg) => {
                    Some(Box::new(IpAccessFilter::new(cfg.clone())))
                }
                StreamFilterConfig::Transcoder(_) => None,
            }
        })
        .collect()
}
