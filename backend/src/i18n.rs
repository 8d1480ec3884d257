//! Bilingual messages: errors are written "español / English"; what a
//! customer reads in HubSpot shows the Spanish half.

/// The Spanish half of a bilingual "español / English" message.
pub fn spanish_part(message: &str) -> String {
    message
        .split(" / ")
        .next()
        .unwrap_or(message)
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_spanish_half() {
        assert_eq!(
            spanish_part("Holded no respondió. / Holded timed out."),
            "Holded no respondió."
        );
        assert_eq!(spanish_part("solo español"), "solo español");
    }
}
