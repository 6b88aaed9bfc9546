//! Fuzzes the BPMN parser and the deploy step behind it: whatever the bytes, `parse`
//! and `deploy` must return (a model or diagnostics), never panic, hang or overflow.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if bpmn::parse(data).is_ok() {
        let _ = bpmn::compile::deploy(&[bpmn::compile::Source {
            name: "fuzz.bpmn",
            xml: data,
            version: 1,
        }]);
    }
});
