//! Text that fits its cell: cut at a character boundary with `…`, never silently; labels that
//! shorten (never their numbers) as the space shrinks.

use unicode_width::UnicodeWidthStr;

/// Display columns of `s`.
pub fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// `s` in at most `cols` columns: whole when it fits, else cut with a final `…`.
pub fn fit(s: &str, cols: usize) -> String {
    if width(s) <= cols {
        return s.to_owned();
    }
    if cols == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > cols - 1 {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// The first of `variants` (longest first) that fits `cols`; else the last one cut to fit.
pub fn first_fitting(variants: &[String], cols: usize) -> String {
    variants
        .iter()
        .find(|v| width(v) <= cols)
        .cloned()
        .unwrap_or_else(|| fit(variants.last().map_or("", String::as_str), cols))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_cut_with_an_ellipsis_never_silently() {
        assert_eq!(fit("gw-pool-11", 10), "gw-pool-11");
        assert_eq!(fit("gw-pool-11", 9), "gw-pool-…");
        assert_eq!(fit("gw-pool-11", 1), "…");
        assert_eq!(fit("gw-pool-11", 0), "");
        // Wide characters count as two columns.
        assert_eq!(fit("日本語", 5), "日本…");
        assert_eq!(width(&fit("日本語のテキスト", 7)), 7);
    }

    #[test]
    fn labels_shorten_before_they_are_cut() {
        let v = ["2 allocated of 8".to_owned(), "2/8".to_owned()];
        assert_eq!(first_fitting(&v, 20), "2 allocated of 8");
        assert_eq!(first_fitting(&v, 5), "2/8");
        assert_eq!(first_fitting(&v, 2), "2…");
    }
}
