//! Slicing lists into pages, as every provider's model pages its lists.

/// One page of `items` (1-based `page`), and the number of pages.
pub(crate) fn page_of<T>(items: &[T], page: u64, per_page: u64) -> (&[T], u64) {
    let per_page = per_page.max(1);
    let pages = (items.len() as u64).div_ceil(per_page).max(1);
    let start = page.saturating_sub(1).saturating_mul(per_page);
    (slice_of(items, start, per_page), pages)
}

/// `offset`/`limit` slice of `items`.
pub(crate) fn slice_of<T>(items: &[T], offset: u64, limit: u64) -> &[T] {
    let start = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(items.len());
    let end = start
        .saturating_add(usize::try_from(limit).unwrap_or(usize::MAX))
        .min(items.len());
    &items[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_cover_every_item_once() {
        let items: Vec<u32> = (0..25).collect();
        let (p1, pages) = page_of(&items, 1, 10);
        assert_eq!((p1.len(), pages), (10, 3));
        assert_eq!(page_of(&items, 3, 10).0, &[20, 21, 22, 23, 24]);
        assert!(page_of(&items, 4, 10).0.is_empty());
        assert!(page_of(&items, u64::MAX, u64::MAX).0.is_empty());
        assert_eq!(page_of::<u32>(&[], 1, 10).1, 1);
        assert_eq!(slice_of(&items, 20, 100).len(), 5);
        assert!(slice_of(&items, u64::MAX, 1).is_empty());
    }
}
