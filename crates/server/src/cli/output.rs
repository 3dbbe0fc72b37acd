//! Printing: Management-API JSON with `--json`, otherwise `key: value` lines for one object and
//! one line per object for lists.

use serde_json::Value;

pub struct Out {
    pub json: bool,
}

impl Out {
    pub fn object(&self, v: &Value) {
        if self.json {
            println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
            return;
        }
        if let Value::Object(map) = v {
            for (k, val) in map {
                println!("{k}: {}", plain(val));
            }
        }
    }

    /// `columns` picks the fields shown per line in the human form.
    pub fn list(&self, items: &[Value], columns: &[&str]) {
        if self.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&Value::Array(items.to_vec())).unwrap_or_default()
            );
            return;
        }
        if items.is_empty() {
            println!("(none)");
            return;
        }
        println!("{}", columns.join("\t"));
        for it in items {
            let row: Vec<String> = columns.iter().map(|c| plain(&it[*c])).collect();
            println!("{}", row.join("\t"));
        }
    }

    pub fn note(&self, text: &str) {
        if !self.json {
            eprintln!("{text}");
        }
    }
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Array(a) if a.iter().all(Value::is_string) => a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}
