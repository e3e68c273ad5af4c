//! `logging::init` installs the global subscriber once; this file is its own process.

use mosn_admin::logging;
use mosn_config::LogLevel;

#[test]
fn init_installs_once_and_levels_reload() {
    let dir = std::env::temp_dir().join(format!("mosn-admin-init-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("logs").join("mosn.log");
    let path_str = path.to_str().unwrap();

    let handle = logging::init(Some(path_str), LogLevel::Warn).unwrap();
    assert_eq!(handle.path(), path_str);
    assert_eq!(handle.level(), LogLevel::Warn);
    tracing::info!("hidden-before-reload");
    tracing::warn!("shown-warn");
    handle.set_level(LogLevel::Info).unwrap();
    tracing::info!("shown-after-reload");

    // A second call is an error, not a panic, and leaves the first logger in place.
    let err = logging::init(Some("stderr"), LogLevel::Debug).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
    tracing::info!("still-to-the-file");

    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("hidden-before-reload"), "{text}");
    for shown in ["shown-warn", "shown-after-reload", "still-to-the-file"] {
        assert!(text.contains(shown), "{shown} missing: {text}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
