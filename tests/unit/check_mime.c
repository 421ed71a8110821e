/*
 * Unit tests for common/http/mime: Content-Type from the extension of the last
 * path segment, case-insensitively, octet-stream otherwise.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mime.h"

#define OCTET "application/octet-stream"

static const char *type_of(const char *path)
{
    const char *t = mime_type(path, strlen(path));

    ck_assert_msg(t != NULL, "\"%s\": NULL", path);
    return t;
}

/* Exact match for types that take no parameter. */
static void assert_type(const char *path, const char *want)
{
    const char *t = type_of(path);

    ck_assert_msg(strcmp(t, want) == 0, "\"%s\": \"%s\", expected \"%s\"", path, t, want);
}

/* Text types may carry "; charset=utf-8"; nothing else may follow. */
static void assert_text_type(const char *path, const char *base)
{
    const char *t = type_of(path);
    size_t n = strlen(base);

    ck_assert_msg(strncmp(t, base, n) == 0 &&
                      (t[n] == '\0' || strcasecmp(t + n, "; charset=utf-8") == 0),
                  "\"%s\": \"%s\", expected \"%s\" (optionally with \"; charset=utf-8\")", path,
                  t, base);
}

START_TEST(test_text_types)
{
    assert_text_type("/index.html", "text/html");
    assert_text_type("/a/b/page.htm", "text/html");
    assert_text_type("/style.css", "text/css");
    assert_text_type("/notes.txt", "text/plain");
}
END_TEST

/* RFC 9239 makes text/javascript the one to use; the older
 * application/javascript is still understood by every browser. */
START_TEST(test_javascript)
{
    const char *t = type_of("/app.js");

    ck_assert_msg(strncmp(t, "text/javascript", 15) == 0 ||
                      strncmp(t, "application/javascript", 22) == 0,
                  "\"/app.js\": \"%s\"", t);
    if (strncmp(t, "text/javascript", 15) == 0)
        assert_text_type("/app.js", "text/javascript");
    else
        assert_text_type("/app.js", "application/javascript");
}
END_TEST

START_TEST(test_other_types)
{
    const char *t;

    assert_type("/data.json", "application/json");
    assert_type("/pic.svg", "image/svg+xml");
    assert_type("/pic.png", "image/png");
    assert_type("/pic.jpg", "image/jpeg");
    assert_type("/pic.jpeg", "image/jpeg");
    assert_type("/pic.gif", "image/gif");
    assert_type("/pic.webp", "image/webp");
    assert_type("/font.woff2", "font/woff2");
    assert_type("/doc.pdf", "application/pdf");
    assert_type("/mod.wasm", "application/wasm");
    assert_type("/movie.mp4", "video/mp4");

    t = type_of("/feed.xml");
    ck_assert_msg(strncmp(t, "application/xml", 15) == 0 || strncmp(t, "text/xml", 8) == 0,
                  "\"/feed.xml\": \"%s\"", t);
    t = type_of("/favicon.ico");
    ck_assert_msg(strcmp(t, "image/x-icon") == 0 || strcmp(t, "image/vnd.microsoft.icon") == 0,
                  "\"/favicon.ico\": \"%s\"", t);
}
END_TEST

START_TEST(test_case_insensitive)
{
    assert_type("/X.PNG", "image/png");
    assert_type("/x.Png", "image/png");
    assert_type("/PHOTO.JPEG", "image/jpeg");
    assert_text_type("/INDEX.HTML", "text/html");
    assert_text_type("/a.Css", "text/css");
}
END_TEST

START_TEST(test_unknown)
{
    assert_type("/README", OCTET);
    assert_type("/file.xyz", OCTET);
    assert_type("/file.", OCTET);
    assert_type("/a.d/file", OCTET);
    assert_type("/a.html/file", OCTET);
    assert_type("/dir.png/", OCTET);
    assert_type("/", OCTET);
    assert_type("", OCTET);
    assert_type("/file.htmlx", OCTET);
    assert_type("/file.xhtml5", OCTET);
    assert_type("/filehtml", OCTET);
}
END_TEST

/* Last dot wins. */
START_TEST(test_last_extension)
{
    assert_type("/archive.html.png", "image/png");
    assert_text_type("/v1.2/page.min.css", "text/css");
    assert_type("/a.png.unknown", OCTET);
}
END_TEST

/* Only len bytes are the path. */
START_TEST(test_length_respected)
{
    static const char buf[] = "/a.pngXYZ";
    const char *t;

    t = mime_type(buf, 6);
    ck_assert_str_eq(t, "image/png");
    t = mime_type(buf, 5); /* "/a.pn" */
    ck_assert_str_eq(t, OCTET);
    t = mime_type("/a.html", 5); /* "/a.ht" */
    ck_assert_str_eq(t, OCTET);
}
END_TEST

/* The extension as the file cache looks it up in the config's mime_types
 * and cache_control. */
START_TEST(test_extension)
{
    static const struct {
        const char *path;
        const char *ext;
    } cases[] = {
        { "/a.html", "html" }, { "/a.b.CSS", "CSS" }, { "/dir.d/file", "" }, { "/file", "" },
        { "/file.", "" },      { "/", "" },           { "", "" },           { "/.profile", "profile" },
        { "a.md", "md" },      { "/x/y.tar.gz", "gz" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        str_t e = mime_extension(cases[i].path, strlen(cases[i].path));
        ck_assert_msg(e.len == strlen(cases[i].ext) && memcmp(e.p, cases[i].ext, e.len) == 0,
                      "\"%s\": extension \"%.*s\", expected \"%s\"", cases[i].path, (int)e.len,
                      e.p, cases[i].ext);
    }
}
END_TEST

START_TEST(test_type_of_extension)
{
    ck_assert_str_eq(mime_type_of_extension(STR_LIT("png")), "image/png");
    ck_assert_str_eq(mime_type_of_extension(STR_LIT("PNG")), "image/png");
    ck_assert_str_eq(mime_type_of_extension(str_make("pngx", 3)), "image/png");
    ck_assert_ptr_null(mime_type_of_extension(STR_LIT("xyz")));
    ck_assert_ptr_null(mime_type_of_extension(STR_LIT("")));
    ck_assert_ptr_null(mime_type_of_extension(STR_NULL));
    ck_assert_ptr_null(mime_type_of_extension(STR_LIT("webmanifestwebmanifest")));
    /* every built-in extension is found through both entry points */
    ck_assert_str_eq(mime_type_of_extension(STR_LIT("webmanifest")), "application/manifest+json");
    ck_assert_str_eq(mime_type_of_extension(STR_LIT("7z")), "application/x-7z-compressed");
    ck_assert_str_eq(mime_type_of_extension(STR_LIT("zip")), "application/zip");
}
END_TEST

static Suite *mime_suite(void)
{
    Suite *s = suite_create("mime");
    TCase *tc = tcase_create("lookup");

    tcase_add_test(tc, test_text_types);
    tcase_add_test(tc, test_javascript);
    tcase_add_test(tc, test_other_types);
    tcase_add_test(tc, test_case_insensitive);
    tcase_add_test(tc, test_unknown);
    tcase_add_test(tc, test_last_extension);
    tcase_add_test(tc, test_length_respected);
    tcase_add_test(tc, test_extension);
    tcase_add_test(tc, test_type_of_extension);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(mime_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
