//! The hostile-input suite: every case `python -m sppnet_ref.hostile` crafts (zip ambiguity,
//! globals outside the allow-list, terminal injection, deep nesting, expansion, configs that
//! allocate, huge images, special files, bad flag values, output-path tricks), run as a user
//! would, each under a 4 GiB address-space cap and a timeout. Asserted per case: the expected
//! outcome (exit 1 with one `error:` line, or success), no panic, no signal, no hang, no payload
//! run, no raw control character printed, no file changed or created through a link, no
//! temporary left behind, less than 1 GiB peak RSS; and (`hostile_tree`) every file the case laid
//! out or named unchanged, new files only where the case allows, no forged output line.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common;
use crate::hostile_tree as tree;

const ADDRESS_SPACE: u64 = 4 << 30;
const TIMEOUT: Duration = Duration::from_secs(30);
const MARKERS: &str = "/tmp/sppnet-hostile-MARKER-";

/// Base64 (standard alphabet, padded), for arguments that are not UTF-8.
pub(crate) fn base64(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let clean: Vec<u8> = s.bytes().filter(|&c| c != b'=').collect();
    let mut out = Vec::new();
    for chunk in clean.chunks(4) {
        let n =
            chunk.iter().fold(0u32, |n, &c| n << 6 | u32::from(val(c))) << (6 * (4 - chunk.len()));
        out.extend(&n.to_be_bytes()[1..chunk.len()]);
    }
    out
}

fn subst(bytes: &[u8], vars: &[(&str, &Path)]) -> std::ffi::OsString {
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    let mut s = bytes.to_vec();
    for (k, v) in vars {
        let (k, v) = (k.as_bytes(), v.as_os_str().as_bytes());
        while let Some(i) = s.windows(k.len()).position(|w| w == k) {
            s.splice(i..i + k.len(), v.iter().copied());
        }
    }
    std::ffi::OsString::from_vec(s)
}

fn markers() -> Vec<PathBuf> {
    let Ok(d) = std::fs::read_dir("/tmp") else {
        return vec![];
    };
    d.flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().starts_with(MARKERS))
        .collect()
}

/// Raw terminal controls in output (escaped text never contains these bytes).
fn controls(b: &[u8]) -> bool {
    let text = String::from_utf8_lossy(b);
    text.chars().any(|c| {
        (c.is_control() && c != '\n' && c != '\t') || ('\u{202a}'..='\u{202e}').contains(&c)
    })
}

struct Outcome {
    class: String,
    clean: bool,
    success: bool,
    problems: Vec<String>,
}

fn run_case(case: &Value, bin: &Path, work: &Path) -> Outcome {
    let name = case["name"].as_str().unwrap_or("?");
    let dir = work.join(name.replace('/', "__"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let setup = &case["setup"];
    let out = dir.join(setup["out_name"].as_str().unwrap_or("out.safetensors"));
    let victim = dir.join("victim.txt");
    if let Some(t) = case["victim_template"].as_str() {
        std::fs::copy(t, &victim).unwrap();
    }
    let vars = [
        ("{OUT}", out.as_path()),
        ("{TMP}", dir.as_path()),
        ("{VICTIM}", victim.as_path()),
    ];
    let target = |k: &str| subst(setup[k].as_str().unwrap_or("").as_bytes(), &vars);
    match setup["kind"].as_str() {
        Some("symlink" | "dangling_symlink") => {
            std::os::unix::fs::symlink(target("to"), &out).unwrap()
        }
        Some("fifo") => {
            let c = std::ffi::CString::new(out.to_string_lossy().as_bytes()).unwrap();
            // SAFETY: a valid NUL-terminated path.
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        }
        Some("dir") => std::fs::create_dir(&out).unwrap(),
        Some("file") => std::fs::write(&out, setup["content"].as_str().unwrap_or("")).unwrap(),
        Some("copy_to_tmp") => {
            let to = dir.join(setup["name"].as_str().unwrap_or("copy"));
            std::fs::copy(setup["from"].as_str().unwrap_or(""), to).unwrap();
        }
        Some("plant_tmp_symlinks") => {
            // The old temporary naming (`.NAME.tmp-PID`); the writer must not follow any link.
            let base = std::fs::read_to_string("/proc/sys/kernel/ns_last_pid")
                .ok()
                .and_then(|s| s.trim().parse::<u32>().ok())
                .unwrap_or(1);
            let stem = out.file_name().unwrap().to_string_lossy().into_owned();
            for pid in base..base + setup["count"].as_u64().unwrap_or(64) as u32 {
                let link = dir.join(format!(".{stem}.tmp-{pid}"));
                std::os::unix::fs::symlink(target("to"), link).unwrap();
            }
        }
        _ => {}
    }
    let args: Vec<std::ffi::OsString> = match case["argv_b64"].as_array() {
        Some(a) => a
            .iter()
            .map(|x| subst(&base64(x.as_str().unwrap_or("")), &vars))
            .collect(),
        None => case["args"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|x| subst(x.as_str().unwrap_or("").as_bytes(), &vars))
            .collect(),
    };
    let sub = |t: &str| subst(t.as_bytes(), &vars);
    tree::lay_out(case, &dir, &sub);
    let before = tree::snapshot(&dir);
    let inputs = tree::named_inputs(&args, &dir);
    let fsize = case["rlimit_fsize"].as_u64();
    let watched: Vec<(PathBuf, Vec<u8>)> = case["check_unchanged"]
        .as_str()
        .map(|p| {
            let p = PathBuf::from(subst(p.as_bytes(), &vars));
            let before = std::fs::read(&p).unwrap_or_default();
            vec![(p, before)]
        })
        .unwrap_or_default();
    if let Some(c) = case["canary_dir"].as_str() {
        std::fs::create_dir_all(c).unwrap();
    }
    let mut cmd = Command::new(bin);
    cmd.args(&args)
        .current_dir(&dir)
        .env_remove("OMP_NUM_THREADS")
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in case["env"].as_object().into_iter().flatten() {
        cmd.env(k, v.as_str().unwrap_or(""));
    }
    // SAFETY: setrlimit is async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            if let Some(bytes) = fsize {
                // A "full disk": writes past `bytes` fail with EFBIG (not SIGXFSZ).
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                let f = libc::rlimit {
                    rlim_cur: bytes,
                    rlim_max: bytes,
                };
                libc::setrlimit(libc::RLIMIT_FSIZE, &f);
            }
            let lim = libc::rlimit {
                rlim_cur: ADDRESS_SPACE,
                rlim_max: ADDRESS_SPACE,
            };
            libc::setrlimit(libc::RLIMIT_AS, &lim);
            let zero = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            libc::setrlimit(libc::RLIMIT_CORE, &zero);
            Ok(())
        });
    }
    let start = Instant::now();
    let mut child = cmd.spawn().unwrap();
    let (mut so, mut se) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let t_out = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = so.read_to_end(&mut b);
        b
    });
    let t_err = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = se.read_to_end(&mut b);
        b
    });
    // wait4 on this child: its own peak RSS, and the exit status.
    let pid = child.id() as libc::pid_t;
    let (mut raw, mut hung) = (0, false);
    // SAFETY: a zeroed rusage is valid; wait4 fills it for our own child.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: waiting for our own child's pid.
        let r = unsafe { libc::wait4(pid, &mut raw, libc::WNOHANG, &mut ru) };
        if r == pid {
            break;
        }
        if start.elapsed() > TIMEOUT && !hung {
            hung = true;
            let _ = child.kill();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // Reaped by wait4 above; std's own wait now only reports that.
    let _ = child.try_wait();
    let status = std::process::ExitStatus::from_raw(raw);
    let rss_kib = ru.ru_maxrss;
    let (stdout, stderr) = (t_out.join().unwrap(), t_err.join().unwrap());
    let err = String::from_utf8_lossy(&stderr);
    // libgomp reads OMP_NUM_THREADS itself when the library loads and complains about a bad
    // value before sppnet runs (sppnet then refuses it on its own line).
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("libgomp: "))
        .collect();
    let code = status.code();
    let clean = code == Some(1) && lines.len() == 1 && lines[0].starts_with("error: ");
    // `infer` and `detect` report each image on its own line, then their summary and one error
    // line.
    let infer_report = code == Some(1)
        && lines.last().is_some_and(|l| l.starts_with("error: "))
        && args
            .iter()
            .any(|a| a == "infer" || a == "detect" || a == "predict");
    let success = code == Some(0);
    let mut problems = Vec::new();
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let expect = match case["expect_root"].as_str() {
        Some(e) if root => e,
        _ => case["expect"].as_str().unwrap_or("error"),
    };
    if hung {
        problems.push("hang".to_string());
    } else if let Some(sig) = status.signal() {
        problems.push(format!("signal {sig}"));
    } else if code == Some(101) || err.contains("panicked") {
        problems.push("panic".into());
    } else if expect == "success" && !success {
        problems.push(format!("expected success, exit {code:?}"));
    } else if expect != "success" && !(clean || infer_report) {
        problems.push(format!(
            "expected one `error:` line and exit 1, exit {code:?}, {} lines",
            lines.len()
        ));
    }
    let out_text = String::from_utf8_lossy(&stdout);
    for l in tree::forged_lines(case, &out_text)
        .into_iter()
        .chain(tree::forged_lines(case, &err))
    {
        problems.push(format!("forged line: {l}"));
    }
    problems.extend(tree::problems(case, &dir, &out, &before, &inputs, &sub));
    if controls(&stdout) || controls(&stderr) {
        problems.push("raw control characters printed".into());
    }
    if case["warn"].as_bool() == Some(true)
        && !String::from_utf8_lossy(&stdout).contains("WARNING")
        && !err.contains("allow-list")
    {
        problems.push("no WARNING for a payload".into());
    }
    if let Some(c) = case["canary_dir"].as_str() {
        if !Path::new(c).is_dir() {
            problems.push("CANARY DELETED".into());
        }
    }
    for (p, before) in &watched {
        if std::fs::read(p).unwrap_or_default() != *before {
            problems.push(format!("{} changed", p.display()));
        }
    }
    if let Some(p) = case["check_absent"].as_str() {
        if PathBuf::from(subst(p.as_bytes(), &vars))
            .symlink_metadata()
            .is_ok()
        {
            problems.push("a file appeared through a link".into());
        }
    }
    if stderr.len() > 1 << 20 || stdout.len() > 16 << 20 {
        problems.push(format!(
            "{} bytes of stderr, {} of stdout",
            stderr.len(),
            stdout.len()
        ));
    }
    if rss_kib > 1 << 20 {
        problems.push(format!("{} MiB peak RSS (some child)", rss_kib >> 10));
    }
    let _ = std::fs::remove_dir_all(&dir);
    Outcome {
        class: case["class"]
            .as_str()
            .unwrap_or("?")
            .split('/')
            .next()
            .unwrap_or("?")
            .to_string(),
        clean: clean || infer_report,
        success,
        problems: problems
            .into_iter()
            .map(|p| format!("{name}: {p} — {}", lines.first().unwrap_or(&"")))
            .collect(),
    }
}

#[test]
fn hostile_inputs_are_refused_cleanly_and_run_nothing() {
    let gen = common::tempdir();
    common::run_python("hostile", &[gen.path().as_os_str()]);
    let manifest: Vec<Value> =
        serde_json::from_slice(&std::fs::read(gen.path().join("manifest.json")).unwrap()).unwrap();
    assert!(manifest.len() > 600, "{} cases", manifest.len());
    markers().iter().for_each(|m| {
        let _ = std::fs::remove_file(m);
    });
    let work = common::tempdir();
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_sppnet"));
    let queue = Mutex::new(manifest.iter());
    let outcomes = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let Some(case) = queue.lock().unwrap().next() else {
                    break;
                };
                let o = run_case(case, &bin, work.path());
                outcomes.lock().unwrap().push(o);
            });
        }
    });
    let outcomes = outcomes.into_inner().unwrap();
    let mut table: BTreeMap<String, [usize; 4]> = BTreeMap::new();
    let mut problems = Vec::new();
    for o in &outcomes {
        let row = table.entry(o.class.clone()).or_default();
        row[0] += 1;
        row[1] += usize::from(o.clean);
        row[2] += usize::from(o.success);
        row[3] += usize::from(!o.problems.is_empty());
        problems.extend(o.problems.iter().cloned());
    }
    println!("| class | tried | clean error | success | problems |\n|---|---|---|---|---|");
    for (class, [n, clean, ok, bad]) in &table {
        println!("| {class} | {n} | {clean} | {ok} | {bad} |");
    }
    assert_eq!(markers(), Vec::<PathBuf>::new(), "a payload ran");
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
