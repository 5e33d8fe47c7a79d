//! The shop's settings as the environment gives them (a function's variables, the local
//! stack's): each read by name through a lookup, defaulted when absent, refused when malformed.

/// The whole number `name` holds, at least `least`; `default` when it is not set.
pub fn whole(var: &impl Fn(&str) -> Option<String>, name: &str, default: i64, least: i64) -> anyhow::Result<i64> {
    match var(name) {
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= least)
            .ok_or_else(|| anyhow::anyhow!("{name}={text} is not a whole number of at least {least}")),
        None => Ok(default),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_setting_is_a_whole_number_of_at_least_its_least_or_its_default() {
        let var = |name: &str| (name == "SET").then(|| "7".to_owned());
        assert_eq!(super::whole(&var, "SET", 1, 0).unwrap(), 7);
        assert_eq!(super::whole(&var, "UNSET", 1, 0).unwrap(), 1);
        assert!(super::whole(&var, "SET", 1, 8).is_err());
        assert!(super::whole(&|_: &str| Some("seven".to_owned()), "SET", 1, 0).is_err());
    }
}
