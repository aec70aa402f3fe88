//! The container recipe (`Containerfile`) as far as a CI machine of this kind allows: no
//! registry is reachable to pull the build stage's base image, so the image itself is not
//! built here (docs/install.md says so). What is checked: the image's CMD and HEALTHCHECK,
//! read from the file, run against the binary as the image would run them: the mock listens
//! on every address, and the health check fails before it serves and passes once it does.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// The JSON array of the Containerfile instruction that starts with `keyword` (continuation
/// lines joined).
fn exec_form(keyword: &str) -> Vec<String> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Containerfile"))
        .expect("Containerfile");
    let joined = text.replace("\\\n", " ");
    let line = joined
        .lines()
        .find(|l| l.starts_with(keyword))
        .unwrap_or_else(|| panic!("no {keyword} in Containerfile"));
    let array = &line[line.find('[').expect("exec form")..];
    serde_json::from_str(array).unwrap_or_else(|e| panic!("{keyword}: {e}: {array}"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The image's argument list with its port 8080 swapped for `port` (CI may hold 8080).
fn on_port(args: &[String], port: u16) -> Vec<String> {
    assert!(
        args.iter().any(|a| a == "8080"),
        "{args:?} does not name port 8080"
    );
    args.iter()
        .map(|a| {
            if a == "8080" {
                port.to_string()
            } else {
                a.clone()
            }
        })
        .collect()
}

fn health_check(args: &[String]) -> std::process::Output {
    // The HEALTHCHECK runs `/burnrate ...` inside the image: here, the built binary.
    assert_eq!(args[0], "/burnrate", "{args:?}");
    Command::new(env!("CARGO_BIN_EXE_burnrate"))
        .args(&args[1..])
        .output()
        .unwrap()
}

#[test]
fn the_image_serves_the_mock_on_every_address_and_its_health_check_tells_up_from_down() {
    let entry = exec_form("ENTRYPOINT");
    assert_eq!(entry, ["/burnrate"]);
    let cmd = exec_form("CMD");
    assert_eq!(cmd[0], "mock");
    let host = cmd
        .iter()
        .position(|a| a == "--host")
        .map(|i| cmd[i + 1].as_str());
    assert_eq!(
        host,
        Some("0.0.0.0"),
        "the image must listen on every address: {cmd:?}"
    );
    // `HEALTHCHECK [options] CMD [...]`: the exec-form array after CMD.
    let probe = exec_form("HEALTHCHECK");

    let port = free_port();
    let down = health_check(&on_port(&probe, port));
    assert_eq!(down.status.code(), Some(3), "nothing serves yet: {down:?}");

    let mut child = Command::new(env!("CARGO_BIN_EXE_burnrate"))
        .args(on_port(&cmd, port))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let up = health_check(&on_port(&probe, port));
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(line.trim(), format!("listening on http://0.0.0.0:{port}"));
    assert!(up.status.success(), "{up:?}");
    assert!(
        String::from_utf8_lossy(&up.stdout).contains("healthy"),
        "{up:?}"
    );
}
