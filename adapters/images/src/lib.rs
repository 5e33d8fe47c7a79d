//! An uploaded image made into the sizes the storefront shows. The type is read from the
//! bytes, never the name; the dimensions from the header before any pixel is decoded, so a
//! decompression bomb (a small file claiming a huge image) is refused before it costs memory;
//! decoding runs under limits besides. The camera's orientation is applied, and each size is a
//! JPEG no wider than the image itself.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use shop::media::{MAX_BYTES, MAX_PIXELS, Made, WIDTHS};

/// The longest side an image may have.
pub const MAX_SIDE: u32 = 20_000;
/// The JPEG quality of each size.
const QUALITY: u8 = 82;

fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    // Four bytes a pixel at most, with room for one resize.
    limits.max_alloc = Some(MAX_PIXELS * 4 * 2);
    limits
}

/// The sizes of `bytes` (one per width of [`WIDTHS`] the image reaches, or one at its own width
/// when it is narrower than all), or why it is not an image the shop takes.
pub fn process(bytes: &[u8]) -> Result<Vec<Made>, String> {
    if bytes.len() as u64 > MAX_BYTES {
        return Err(format!("the file is over {MAX_BYTES} bytes"));
    }
    let reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|e| e.to_string())?;
    match reader.format() {
        Some(ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP | ImageFormat::Gif) => {}
        _ => return Err("the file is not a JPEG, PNG, WebP or GIF image".into()),
    }
    let mut decoder = reader.into_decoder().map_err(|e| format!("the image cannot be read: {e}"))?;
    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
        return Err(format!("the image is {width}×{height}: each side must be 1 to {MAX_SIDE} pixels"));
    }
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(format!("the image is {width}×{height}: at most {} megapixels", MAX_PIXELS / 1_000_000));
    }
    decoder.set_limits(limits()).map_err(|e| format!("the image is too large to read: {e}"))?;
    let orientation = decoder.orientation().ok();
    let mut image = DynamicImage::from_decoder(decoder).map_err(|e| format!("the image cannot be read: {e}"))?;
    if let Some(orientation) = orientation {
        image.apply_orientation(orientation);
    }
    let widths: Vec<u32> = match WIDTHS.iter().copied().filter(|w| *w <= image.width()).collect::<Vec<_>>() {
        fits if fits.is_empty() => vec![image.width()],
        fits => fits,
    };
    widths
        .into_iter()
        .map(|width| {
            let sized = if width == image.width() {
                image.clone()
            } else {
                image.resize(width, u32::MAX, FilterType::Triangle)
            };
            let rgb = sized.to_rgb8();
            let mut jpeg = Vec::new();
            JpegEncoder::new_with_quality(&mut jpeg, QUALITY).encode_image(&rgb).map_err(|e| e.to_string())?;
            Ok(Made { width: rgb.width(), height: rgb.height(), jpeg })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageBuffer, Rgb};

    fn encoded(width: u32, height: u32, format: ImageFormat) -> Vec<u8> {
        let picture = ImageBuffer::from_fn(width, height, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, 128]));
        let mut bytes = Cursor::new(Vec::new());
        DynamicImage::ImageRgb8(picture).write_to(&mut bytes, format).unwrap();
        bytes.into_inner()
    }

    #[test]
    fn an_image_is_made_into_each_width_it_reaches() {
        let sizes = process(&encoded(800, 400, ImageFormat::Png)).unwrap();
        let dims: Vec<(u32, u32)> = sizes.iter().map(|m| (m.width, m.height)).collect();
        assert_eq!(dims, [(200, 100), (600, 300)]);
        for made in &sizes {
            assert_eq!(image::guess_format(&made.jpeg).unwrap(), ImageFormat::Jpeg);
        }
        let small = process(&encoded(120, 90, ImageFormat::Jpeg)).unwrap();
        assert_eq!(small.iter().map(|m| (m.width, m.height)).collect::<Vec<_>>(), [(120, 90)], "never wider");
    }

    #[test]
    fn what_is_not_an_image_or_too_large_is_refused() {
        assert!(process(b"GIF? no: a text file").unwrap_err().contains("not a JPEG"));
        assert!(process(b"%PDF-1.7 ...").unwrap_err().contains("not a JPEG"));
        // PNGs whose headers claim 30000×30000 pixels (over a side's limit) and 8000×6000 (each
        // side within it, 48 megapixels in all), with one pixel's data: refused before decoding.
        let claiming = |width: u32, height: u32| {
            let mut bomb = encoded(1, 1, ImageFormat::Png);
            bomb[16..20].copy_from_slice(&width.to_be_bytes());
            bomb[20..24].copy_from_slice(&height.to_be_bytes());
            let crc = crc32fast::hash(&bomb[12..29]);
            bomb[29..33].copy_from_slice(&crc.to_be_bytes());
            process(&bomb).unwrap_err()
        };
        let refused = claiming(30_000, 30_000);
        assert!(refused.contains("30000×30000") && refused.contains("each side"), "{refused}");
        let refused = claiming(8_000, 6_000);
        assert!(refused.contains("8000×6000") && refused.contains("at most 40 megapixels"), "{refused}");
        let wide = encoded(20_001, 1, ImageFormat::Png);
        assert!(process(&wide).unwrap_err().contains("each side"));
        let truncated = &encoded(300, 300, ImageFormat::Jpeg)[..200];
        assert!(process(truncated).is_err());
    }
}
