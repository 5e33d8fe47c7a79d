//! Product images over HTTP, as the storefront's back office sends them: an upload asked for,
//! the file put to its target, checked by its bytes, made into sizes, served, ordered, edited
//! and removed with its files; and everything that is not an image the shop takes refused with
//! nothing kept.

use std::io::Cursor;

use image::{DynamicImage, ImageBuffer, ImageFormat, Rgb};
use reqwest::Method;
use serde_json::{Value, json};
use shop_tests::{TestApp, eventually};

fn picture(width: u32, height: u32, format: ImageFormat) -> Vec<u8> {
    let pixels = ImageBuffer::from_fn(width, height, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, 90]));
    let mut bytes = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(pixels).write_to(&mut bytes, format).unwrap();
    bytes.into_inner()
}

/// Asks for an upload of `bytes` as `content_type`, puts them to the target, and waits until
/// the upload is done or refused; answers its record.
async fn upload(app: &TestApp, admin: &str, product: &str, content_type: &str, bytes: Vec<u8>, extra: Value) -> Value {
    let mut body =
        json!({"content_type": content_type, "size": bytes.len(), "alt": "The product, seen from the front"});
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    let asked = app.post(&format!("/api/products/{product}/images"), Some(admin), body).await.expect(201);
    assert_eq!(asked.body["upload"]["state"], "waiting");
    let target = &asked.body["target"];
    let mut put = app.http.request(Method::PUT, target["url"].as_str().unwrap());
    for (name, value) in target["headers"].as_object().unwrap() {
        put = put.header(name, value.as_str().unwrap());
    }
    let sent = put.body(bytes).send().await.unwrap();
    assert!(sent.status().is_success(), "{}", sent.text().await.unwrap());
    let location = asked.header("location").unwrap().to_owned();
    eventually(30, "the upload to be handled", || async {
        let record = app.get(&location, Some(admin)).await.expect(200).body;
        (record["state"] != "waiting").then_some(record)
    })
    .await
}

async fn fetch(app: &TestApp, url: &str) -> reqwest::Response {
    app.http.get(url).send().await.unwrap()
}

#[tokio::test]
async fn an_uploaded_image_is_sized_served_ordered_and_removed_with_its_files() {
    let app = TestApp::spawn_with(|c| c.seed_catalogue = false).await;
    let admin = app.admin().await;
    let product = app.product(&admin, "Brass lamp", "lighting", 4900, 3).await;
    let variant = app.get(&format!("/api/products/{product}"), None).await.body["variants"][0]["id"].clone();

    let done = upload(
        &app,
        &admin,
        &product,
        "image/png",
        picture(800, 400, ImageFormat::Png),
        json!({"variant_id": variant}),
    )
    .await;
    assert_eq!(done["state"], "done", "{done:#}");
    let read = app.get(&format!("/api/products/{product}"), None).await.body;
    let first = &read["media"][0];
    assert_eq!(
        (&first["id"], &first["alt"], &first["variant_id"]),
        (&done["image_id"], &json!("The product, seen from the front"), &variant)
    );
    let sizes: Vec<(u64, u64)> = first["sizes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["width"].as_u64().unwrap(), s["height"].as_u64().unwrap()))
        .collect();
    assert_eq!(sizes, [(200, 100), (600, 300)], "the widths it reaches, never wider");
    let urls: Vec<String> =
        first["sizes"].as_array().unwrap().iter().map(|s| s["url"].as_str().unwrap().to_owned()).collect();
    for url in &urls {
        let served = fetch(&app, url).await;
        assert_eq!(served.status(), 200);
        assert_eq!(served.headers()["content-type"], "image/jpeg");
        assert_eq!(served.headers()["cache-control"], "public, max-age=31536000, immutable");
        assert_eq!(&served.bytes().await.unwrap()[..3], b"\xFF\xD8\xFF", "a JPEG");
    }

    // A second one (a JPEG), then the order changed, an alt text edited, the first removed.
    let second = upload(&app, &admin, &product, "image/jpeg", picture(1600, 1200, ImageFormat::Jpeg), json!({})).await;
    assert_eq!(second["state"], "done", "{second:#}");
    let (a, b) = (done["image_id"].clone(), second["image_id"].clone());
    let path = format!("/api/products/{product}");
    let record = app.get(&format!("{path}/record"), Some(&admin)).await;
    let etag = record.header("etag").unwrap().to_owned();
    assert_eq!(record.body["media"][1]["sizes"].as_array().unwrap().len(), 3);
    let order = format!("{path}/images/order");
    app.send(Method::PUT, &order, Some(&admin), Some(json!({"order": [b]})), &[("if-match", &etag)]).await.problem(422);
    let ordered = app
        .send(Method::PUT, &order, Some(&admin), Some(json!({"order": [b, a]})), &[("if-match", &etag)])
        .await
        .expect(200);
    assert_eq!((&ordered.body["media"][0]["id"], &ordered.body["media"][1]["id"]), (&b, &a));
    let etag = ordered.header("etag").unwrap().to_owned();
    let one = format!("{path}/images/{}", a.as_str().unwrap());
    let edited = app
        .send(Method::PUT, &one, Some(&admin), Some(json!({"alt": "Lit, at night"})), &[("if-match", &etag)])
        .await
        .expect(200);
    assert_eq!(
        (&edited.body["media"][1]["alt"], &edited.body["media"][1]["variant_id"]),
        (&json!("Lit, at night"), &Value::Null)
    );
    let etag = edited.header("etag").unwrap().to_owned();
    let removed = app.send(Method::DELETE, &one, Some(&admin), None, &[("if-match", &etag)]).await.expect(200);
    assert_eq!(removed.body["media"].as_array().unwrap().len(), 1);
    for url in &urls {
        assert_eq!(fetch(&app, url).await.status(), 404, "its files are gone");
    }

    // Deleting the product deletes the files of its images.
    let left: Vec<String> = removed.body["media"][0]["sizes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["url"].as_str().unwrap().to_owned())
        .collect();
    let etag = removed.header("etag").unwrap().to_owned();
    app.send(Method::DELETE, &path, Some(&admin), None, &[("if-match", &etag)]).await.expect(204);
    for url in &left {
        assert_eq!(fetch(&app, url).await.status(), 404);
    }
}

#[tokio::test]
async fn what_is_not_an_image_the_shop_takes_is_refused_and_nothing_is_kept() {
    let app = TestApp::spawn_with(|c| c.seed_catalogue = false).await;
    let admin = app.admin().await;
    let product = app.product(&admin, "Brass lamp", "lighting", 4900, 3).await;
    let images = format!("/api/products/{product}/images");
    let ask = |body: Value| app.post(&images, Some(&admin), body);
    let good = json!({"content_type": "image/png", "size": 100, "alt": "A lamp"});
    for (field, value) in [
        ("content_type", json!("application/pdf")),
        ("size", json!(0)),
        ("size", json!(10 * 1024 * 1024 + 1)),
        ("alt", json!("  ")),
        ("variant_id", json!("not-an-id")),
    ] {
        let mut body = good.clone();
        body[field] = value;
        let refused = ask(body).await.problem(422);
        assert_eq!(refused.body["errors"][0]["field"], field, "{:#}", refused.body);
    }
    let mut other_variant = good.clone();
    other_variant["variant_id"] = json!("01J00000000000000000000000");
    ask(other_variant).await.problem(404);
    app.post("/api/products/01J00000000000000000000000/images", Some(&admin), good.clone()).await.problem(404);
    let (alice, _, _) = app.shopper("Alice").await;
    app.post(&images, Some(&alice), good.clone()).await.problem(403);
    app.post(&images, None, good).await.problem(401);

    // A text file said to be a PNG; a PNG header claiming 30000 × 30000 pixels (a bomb).
    let text = upload(&app, &admin, &product, "image/png", b"just some text, not a picture".to_vec(), json!({})).await;
    assert_eq!(text["state"], "refused");
    assert!(text["reason"].as_str().unwrap().contains("not a JPEG, PNG, WebP or GIF"), "{text:#}");
    let mut bomb = picture(1, 1, ImageFormat::Png);
    bomb[16..24].copy_from_slice(&[&30_000u32.to_be_bytes()[..], &30_000u32.to_be_bytes()[..]].concat());
    let crc = crc32fast::hash(&bomb[12..29]);
    bomb[29..33].copy_from_slice(&crc.to_be_bytes());
    let refused = upload(&app, &admin, &product, "image/png", bomb, json!({})).await;
    assert!(refused["reason"].as_str().unwrap().contains("30000×30000"), "{refused:#}");
    assert_eq!(app.get(&format!("/api/products/{product}"), None).await.body["media"], json!([]));
    let kept = app.config.data_dir.join("objects");
    let files: Vec<_> = walk(&kept).into_iter().filter(|p| !p.ends_with("objects-key")).collect();
    assert!(files.is_empty(), "nothing kept: {files:?}");
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries.flatten().flat_map(|e| if e.path().is_dir() { walk(&e.path()) } else { vec![e.path()] }).collect()
}
