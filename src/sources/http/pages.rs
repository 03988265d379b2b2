//! One page loop for every paged API, whatever says where the next page is
//! (`Link: rel="next"`, a page number or offset, a continuation token), and
//! one policy on next-page links: credentials never go to another origin.

use std::future::Future;

/// One page read: its items, and how to ask for the next one, if any.
pub struct PageOf<T, C> {
    pub items: Vec<T>,
    pub next: Option<C>,
}

/// How far a loop goes.
#[derive(Clone, Copy, Debug)]
pub struct Bounds {
    /// Stop once this many items are read (the rest are cut off).
    pub items: usize,
    /// Never read more than this many pages: a bound against a server that
    /// always says there is more.
    pub pages: usize,
}

/// Read pages from `first` on, each asked for with the cursor the page
/// before handed out (a request, a URL, a token, an offset), until there is
/// no next page or `bounds` are reached. Any failure fails the whole read.
pub async fn collect<C, T, E, F, Fut>(first: C, bounds: Bounds, mut fetch: F) -> Result<Vec<T>, E>
where
    F: FnMut(C) -> Fut,
    Fut: Future<Output = Result<PageOf<T, C>, E>>,
{
    let mut all = Vec::new();
    let mut cursor = Some(first);
    let mut pages = 0;
    while let Some(at) = cursor.take() {
        if pages >= bounds.pages || all.len() >= bounds.items {
            break;
        }
        pages += 1;
        let page = fetch(at).await?;
        all.extend(page.items);
        cursor = page.next;
    }
    all.truncate(bounds.items);
    Ok(all)
}

/// The policy on a `Link: rel="next"` (GitHub, GitLab): it is followed only
/// on the origin (scheme, host, port) of `base`, the API the credentials
/// belong to. A link elsewhere (a misconfigured external URL, a proxy) is
/// not followed: the pages read so far are kept and the log says why, rather
/// than failing the read or sending the token there.
pub fn follow(source: &str, base: &str, next: Option<&str>) -> Option<String> {
    let next = next?;
    let origin = |u: &str| url::Url::parse(u).ok().map(|u| u.origin());
    let same = origin(next).is_some_and(|o| o.is_tuple()) && origin(next) == origin(base);
    if !same {
        tracing::warn!(
            source,
            base,
            "not following a next-page link to another origin (the credentials stay with the \
             API; the pages read so far are kept)"
        );
    }
    same.then(|| next.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_links_are_followed_only_on_the_apis_own_origin() {
        let base = "https://gitlab.example.com/api/v4";
        let next = "https://gitlab.example.com/api/v4/projects/1/pipelines?page=2";
        assert_eq!(follow("ci", base, Some(next)).as_deref(), Some(next));
        for elsewhere in [
            "https://elsewhere.example.net/api/v4/projects/1/pipelines?page=2",
            "http://gitlab.example.com/api/v4/projects/1/pipelines?page=2",
            "https://gitlab.example.com:8443/api/v4/projects/1/pipelines?page=2",
            "not a url",
        ] {
            assert_eq!(follow("ci", base, Some(elsewhere)), None, "{elsewhere}");
        }
        assert_eq!(follow("ci", base, None), None);
        // The default port is the same origin.
        let explicit = "https://gitlab.example.com:443/api/v4/x?page=2";
        assert!(follow("ci", base, Some(explicit)).is_some());
    }

    #[tokio::test]
    async fn pages_are_read_until_no_next_or_the_bounds() {
        let bounds = Bounds {
            items: 100,
            pages: 10,
        };
        let read = collect(0u32, bounds, |n| async move {
            Ok::<_, ()>(PageOf {
                items: vec![n; 2],
                next: (n < 2).then_some(n + 1),
            })
        })
        .await;
        assert_eq!(read, Ok(vec![0, 0, 1, 1, 2, 2]));

        let few = Bounds {
            items: 3,
            pages: 10,
        };
        let endless = |n: u32| async move {
            Ok::<_, ()>(PageOf {
                items: vec![n; 2],
                next: Some(n + 1),
            })
        };
        assert_eq!(collect(0, few, endless).await, Ok(vec![0, 0, 1]));
        let short = Bounds {
            items: 100,
            pages: 2,
        };
        assert_eq!(collect(0, short, endless).await, Ok(vec![0, 0, 1, 1]));
    }

    #[tokio::test]
    async fn a_failed_page_fails_the_read() {
        let bounds = Bounds {
            items: 100,
            pages: 10,
        };
        let read = collect(0u32, bounds, |n| async move {
            if n == 1 {
                return Err("broken");
            }
            Ok(PageOf {
                items: vec![n],
                next: Some(n + 1),
            })
        })
        .await;
        assert_eq!(read, Err("broken"));
    }
}
