//! Reading audio: the committed espeak-ng clips (tests/audio/, written by
//! tools/golden/ch10_speech.py), every sample format a WAV may hold, and each way a file
//! can be wrong, written with hound into a temporary directory.

use std::f32::consts::PI;
use std::path::{Path, PathBuf};

use ch10_encoder_decoder::audio::mel::{hz_to_mel, mel_to_hz};
use ch10_encoder_decoder::audio::resample::resample;
use ch10_encoder_decoder::audio::wav::read_wav_native;
use ch10_encoder_decoder::audio::{AudioError, N_SAMPLES, log_mel_spectrogram, read_wav};
use hound::{SampleFormat, WavSpec, WavWriter};
use ndarray::s;

fn audio_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/audio")
}

fn clips() -> serde_json::Value {
    let text = std::fs::read_to_string(audio_dir().join("clips.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Writes `frames` (one Vec a frame, one value a channel) as a WAV of the given format.
fn write_wav<S: hound::Sample + Copy>(
    path: &Path,
    rate: u32,
    bits: u16,
    format: SampleFormat,
    frames: &[Vec<S>],
) {
    let channels = frames.first().map_or(1, |f| f.len() as u16);
    let spec = WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: format,
    };
    let mut w = WavWriter::create(path, spec).unwrap();
    for frame in frames {
        for &s in frame {
            w.write_sample(s).unwrap();
        }
    }
    w.finalize().unwrap();
}

fn mono<S: Copy>(samples: &[S]) -> Vec<Vec<S>> {
    samples.iter().map(|&s| vec![s]).collect()
}

#[test]
fn every_committed_clip_reads_as_16_khz_mono_of_its_listed_length() {
    let doc = clips();
    for clip in doc["clips"].as_array().unwrap() {
        let file = clip["file"].as_str().unwrap();
        let x = read_wav(audio_dir().join(file)).unwrap();
        assert_eq!(x.len() as u64, clip["samples"].as_u64().unwrap(), "{file}");
        let seconds = x.len() as f64 / 16_000.0;
        assert!((2.0..=5.5).contains(&seconds), "{file}: {seconds} s");
        let peak = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(
            peak > 0.1 && peak <= 1.0,
            "{file}: peak {peak}: speech, not silence"
        );
    }
}

#[test]
fn integer_samples_of_every_width_map_to_the_same_fractions() {
    let dir = tempfile::tempdir().unwrap();
    // The same five fractions of full scale, at 8, 16, 24 and 32 bits.
    let fractions = [-1.0, -0.5, 0.0, 0.25, 0.5];
    for bits in [8u16, 16, 24, 32] {
        let full = (1i64 << (bits - 1)) as f64;
        let ints: Vec<i32> = fractions.iter().map(|f| (f * full) as i32).collect();
        let path = dir.path().join(format!("int{bits}.wav"));
        write_wav(&path, 16_000, bits, SampleFormat::Int, &mono(&ints));
        let x = read_wav(&path).unwrap();
        let want: Vec<f32> = fractions.iter().map(|&f| f as f32).collect();
        assert_eq!(x, want, "{bits}-bit");
    }
    // The largest sample stays below 1: 32767 / 32768, as openai-whisper divides.
    let path = dir.path().join("max16.wav");
    write_wav(&path, 16_000, 16, SampleFormat::Int, &mono(&[i16::MAX]));
    assert_eq!(read_wav(&path).unwrap(), vec![32_767.0 / 32_768.0]);
}

#[test]
fn float_samples_pass_through_and_out_of_range_ones_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("float.wav");
    let x = [-1.0f32, -0.125, 0.0, 0.3, 1.0];
    write_wav(&path, 16_000, 32, SampleFormat::Float, &mono(&x));
    assert_eq!(read_wav(&path).unwrap(), x.to_vec());
    for bad in [1.5f32, f32::NAN] {
        write_wav(
            &path,
            16_000,
            32,
            SampleFormat::Float,
            &mono(&[0.0, 0.5, bad]),
        );
        let err = read_wav(&path).unwrap_err();
        assert!(
            matches!(err, AudioError::OutOfRange { index: 2, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("sample 2"), "{err}");
    }
}

#[test]
fn stereo_is_averaged_to_mono_and_more_channels_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stereo.wav");
    let frames = vec![
        vec![16_384i16, 0],
        vec![-8_192, 8_192],
        vec![32_767, 32_767],
    ];
    write_wav(&path, 16_000, 16, SampleFormat::Int, &frames);
    let x = read_wav(&path).unwrap();
    assert_eq!(x, vec![0.25, 0.0, 32_767.0 / 32_768.0]);

    let path = dir.path().join("surround.wav");
    write_wav(&path, 16_000, 16, SampleFormat::Int, &[vec![0i16; 6]]);
    let err = read_wav(&path).unwrap_err();
    assert!(
        matches!(err, AudioError::Channels { channels: 6, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("6 channels"), "{err}");
}

#[test]
fn an_empty_file_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.wav");
    write_wav::<i16>(&path, 16_000, 16, SampleFormat::Int, &[]);
    let err = read_wav(&path).unwrap_err();
    assert!(matches!(err, AudioError::Empty { .. }), "{err}");
    assert!(err.to_string().contains("empty.wav"), "{err}");
}

#[test]
fn more_than_30_seconds_is_an_error_naming_the_length() {
    let dir = tempfile::tempdir().unwrap();
    // Exactly 30 s is Whisper's whole window and is read; one sample more is not.
    let path = dir.path().join("30s.wav");
    write_wav(
        &path,
        16_000,
        16,
        SampleFormat::Int,
        &mono(&vec![0i16; N_SAMPLES]),
    );
    assert_eq!(read_wav(&path).unwrap().len(), N_SAMPLES);
    let path = dir.path().join("long.wav");
    write_wav(
        &path,
        8_000,
        16,
        SampleFormat::Int,
        &mono(&vec![0i16; 8_000 * 31]),
    ); // 31 s at 8 kHz
    let err = read_wav(&path).unwrap_err();
    assert!(
        matches!(
            err,
            AudioError::TooLong {
                frames: 248_000,
                rate: 8_000,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("31.00 s"), "{err}");
}

#[test]
fn a_compressed_format_is_an_error_naming_its_format_tag() {
    // A valid A-law WAV header (format tag 6, 8 bits, mono, 8 kHz) with 4 samples: hound
    // does not decode A-law, and the error says which format the file holds.
    let mut b = Vec::new();
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(4u32 + 8 + 18 + 8 + 4).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&18u32.to_le_bytes());
    for v in [6u16, 1] {
        b.extend_from_slice(&v.to_le_bytes()); // format tag, channels
    }
    b.extend_from_slice(&8_000u32.to_le_bytes()); // sample rate
    b.extend_from_slice(&8_000u32.to_le_bytes()); // bytes a second
    for v in [1u16, 8, 0] {
        b.extend_from_slice(&v.to_le_bytes()); // block align, bits, extra size
    }
    b.extend_from_slice(b"data");
    b.extend_from_slice(&4u32.to_le_bytes());
    b.extend_from_slice(&[0xd5, 0x55, 0xd5, 0x55]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alaw.wav");
    std::fs::write(&path, b).unwrap();
    let err = read_wav(&path).unwrap_err();
    assert!(
        matches!(
            err,
            AudioError::Unsupported {
                tag: 6,
                name: "A-law",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("A-law"), "{err}");
}

#[test]
fn a_file_that_is_not_a_wav_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.wav");
    std::fs::write(&path, "these are not samples").unwrap();
    let err = read_wav(&path).unwrap_err();
    assert!(matches!(err, AudioError::Read { .. }), "{err}");
    assert!(err.to_string().contains("notes.wav"), "{err}");
    let err = read_wav(dir.path().join("missing.wav")).unwrap_err();
    assert!(err.to_string().contains("missing.wav"), "{err}");
}

/// The fraction of the energy of `x` at `hz` (a single DFT bin's worth, Goertzel-style).
fn tone_amplitude(x: &[f32], rate: f32, hz: f32) -> f32 {
    let (mut re, mut im) = (0.0f64, 0.0f64);
    for (i, &v) in x.iter().enumerate() {
        let phase = 2.0 * PI as f64 * hz as f64 * i as f64 / rate as f64;
        re += v as f64 * phase.cos();
        im -= v as f64 * phase.sin();
    }
    (2.0 * (re * re + im * im).sqrt() / x.len() as f64) as f32
}

#[test]
fn resampling_keeps_a_tone_below_8_khz_and_removes_one_above() {
    // 1 s at 22,050 Hz: a 440 Hz tone (kept) plus a 10 kHz tone, which 16 kHz audio
    // cannot hold. Without a low-pass filter it would fold onto 16 - 10 = 6 kHz.
    let rate = 22_050.0;
    let x: Vec<f32> = (0..22_050)
        .map(|i| {
            let t = i as f32 / rate;
            0.5 * (2.0 * PI * 440.0 * t).sin() + 0.3 * (2.0 * PI * 10_000.0 * t).sin()
        })
        .collect();
    let y = resample(&x, 22_050, 16_000).unwrap();
    assert_eq!(y.len(), 16_000, "1 s at 16 kHz");
    let inner = &y[1_000..15_000]; // away from the clip's edges
    let kept = tone_amplitude(inner, 16_000.0, 440.0);
    let folded = tone_amplitude(inner, 16_000.0, 6_000.0);
    assert!(
        (kept - 0.5).abs() < 0.01,
        "440 Hz amplitude {kept}, want 0.5"
    );
    assert!(
        folded < 1e-3,
        "10 kHz folded onto 6 kHz with amplitude {folded}"
    );
}

/// The time by which `y` (at `rate`) lags a sine of `hz` that starts at phase 0, in
/// samples: from the phase of its best fit a·sin + b·cos over the clip's middle.
fn lag_in_samples(y: &[f32], rate: f64, hz: f64) -> f64 {
    let (mut s, mut c) = (0.0, 0.0);
    let middle = y.len() / 8..y.len() * 7 / 8;
    for (i, &v) in y.iter().enumerate().take(middle.end).skip(middle.start) {
        let phase = 2.0 * std::f64::consts::PI * hz * i as f64 / rate;
        s += f64::from(v) * phase.sin();
        c += f64::from(v) * phase.cos();
    }
    -c.atan2(s) / (2.0 * std::f64::consts::PI * hz) * rate
}

#[test]
fn rubatos_fft_resampler_leads_by_half_an_input_sample() {
    // What the text reports: rubato 5.1's FFT resampler trims its delay in whole output
    // samples, and for 22,050 -> 16,000 Hz its output still leads the input by half an
    // input sample (23 µs, 0.36 of a 16 kHz sample). Whisper's frames are 10 ms apart;
    // the shift is 0.2 % of one. If a new rubato removes it, this test says so.
    let x: Vec<f32> = (0..22_050)
        .map(|i| (2.0 * PI * 1_000.0 * i as f32 / 22_050.0).sin())
        .collect();
    let y = resample(&x, 22_050, 16_000).unwrap();
    let lag = lag_in_samples(&y, 16_000.0, 1_000.0);
    let half_input = 0.5 * 16_000.0 / 22_050.0;
    assert!(
        (lag + half_input).abs() < 0.01,
        "lag {lag:.4} output samples"
    );
    // An integer ratio has no such shift.
    let x8: Vec<f32> = (0..8_000)
        .map(|i| (2.0 * PI * 1_000.0 * i as f32 / 8_000.0).sin())
        .collect();
    let lag8 = lag_in_samples(&resample(&x8, 8_000, 16_000).unwrap(), 16_000.0, 1_000.0);
    assert!(lag8.abs() < 0.01, "8 kHz -> 16 kHz lag {lag8:.4} samples");
}

#[test]
fn a_44_1_khz_stereo_24_bit_file_comes_out_as_16_khz_mono() {
    // The whole chain at once: decode 24-bit, average the channels, resample. A 300 Hz
    // tone in the left channel only comes out at half its amplitude, one second long.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cd.wav");
    let full = f64::from(1 << 23);
    let frames: Vec<Vec<i32>> = (0..44_100)
        .map(|i| {
            let v =
                0.8 * (2.0 * std::f64::consts::PI * 300.0 * i as f64 / 44_100.0).sin();
            vec![(v * full) as i32, 0]
        })
        .collect();
    write_wav(&path, 44_100, 24, SampleFormat::Int, &frames);
    let y = read_wav(&path).unwrap();
    assert_eq!(y.len(), 16_000);
    let amplitude = tone_amplitude(&y[1_000..15_000], 16_000.0, 300.0);
    assert!(
        (amplitude - 0.4).abs() < 0.005,
        "300 Hz amplitude {amplitude}, want 0.4"
    );
}

#[test]
fn the_native_22050_hz_clip_gives_the_log_mel_of_what_scipy_made() {
    // fox-22050.wav is espeak-ng's own output; fox.wav is the same speech resampled by
    // scipy's resample_poly. The two low-pass filters differ in how they roll off towards
    // 8 kHz; below 6 kHz Whisper's features agree to a few hundredths (out of a range of
    // about 2), and on average to under a thousandth.
    let doc = clips();
    let native = &doc["native"];
    let file = audio_dir().join(native["file"].as_str().unwrap());
    let (x, rate) = read_wav_native(&file).unwrap();
    assert_eq!(
        (x.len() as u64, rate),
        (native["samples"].as_u64().unwrap(), 22_050)
    );
    let ours = read_wav(&file).unwrap();
    let scipy =
        read_wav(audio_dir().join(native["resampled_as"].as_str().unwrap())).unwrap();
    assert_eq!(
        ours.len(),
        scipy.len(),
        "both round 70,667 · 16000 / 22050 the same way"
    );
    let (a, b) = (
        log_mel_spectrogram(&ours).unwrap(),
        log_mel_spectrogram(&scipy).unwrap(),
    );
    // Band i's triangle ends at mel edge i + 2 of 82 evenly spaced from 0 Hz to 8 kHz.
    let step = hz_to_mel(8_000.0) / 81.0;
    let below_6k = (0..80)
        .filter(|&i| mel_to_hz((i + 2) as f64 * step) < 6_000.0)
        .count();
    assert_eq!(below_6k, 72);
    let worst = (&a - &b)
        .slice(s![..below_6k, ..])
        .fold(0.0f32, |m, d| m.max(d.abs()));
    // The largest differences sit in quiet cells 70-80 dB below the loudest, in the 5-6
    // kHz bands, where each filter's own stop-band leakage is of the signal's size.
    assert!(
        worst < 0.05,
        "rubato against scipy, bands below 6 kHz: max |Δ| = {worst}"
    );
    let mean = (&a - &b).mapv(f32::abs).mean().unwrap();
    assert!(
        mean < 0.001,
        "rubato against scipy, all bands: mean |Δ| = {mean}"
    );
}

#[test]
fn error_messages() {
    // What a reader sees for each bad file, shown in the text. The temporary directory
    // is replaced by `DIR` so that the snapshot does not depend on where it was made.
    let dir = tempfile::tempdir().unwrap();
    let at = |name: &str| dir.path().join(name);
    write_wav(
        &at("surround.wav"),
        16_000,
        16,
        SampleFormat::Int,
        &[vec![0i16; 6]],
    );
    write_wav::<i16>(&at("empty.wav"), 16_000, 16, SampleFormat::Int, &[]);
    let long = mono(&vec![0i16; 16_000 * 45 + 8_000]);
    write_wav(&at("lecture.wav"), 16_000, 16, SampleFormat::Int, &long);
    let loud = mono(&[0.0f32, 0.5, 1.25]);
    write_wav(&at("loud.wav"), 16_000, 32, SampleFormat::Float, &loud);
    std::fs::write(at("notes.wav"), "these are not samples").unwrap();
    let mut out = String::new();
    for name in [
        "surround.wav",
        "empty.wav",
        "lecture.wav",
        "loud.wav",
        "notes.wav",
    ] {
        let err = read_wav(at(name)).unwrap_err().to_string();
        let shown = err.replace(&format!("{}/", dir.path().display()), "DIR/");
        out.push_str(&shown);
        out.push('\n');
    }
    let samples = log_mel_spectrogram(&vec![0.0; 16_000 * 31]).unwrap_err();
    out.push_str(&samples.to_string());
    insta::assert_snapshot!(out);
}
