"""ALMA identifiers: a uid in either form, and the MOUS and project read from a delivery name."""

import unittest

from workspaces_pack.core.uids import (canonical_uid, check_alma_uid, parse_delivery_name,
                                       stored_uid_forms)


class TestUidForms(unittest.TestCase):
    """``uid://A002/Xc7111c/X3979`` and ``uid___A002_Xc7111c_X3979`` are the same EB."""

    def test_both_forms_give_the_canonical_uid(self):
        for value in ("uid://A002/Xc7111c/X3979", "uid___A002_Xc7111c_X3979"):
            self.assertEqual(canonical_uid(value), "uid://A002/Xc7111c/X3979")
            self.assertEqual(check_alma_uid(value), "uid://A002/Xc7111c/X3979")

    def test_stored_forms(self):
        self.assertEqual(stored_uid_forms(["uid://A002/Xc7111c/X3979"]),
                         ["uid://A002/Xc7111c/X3979", "uid___A002_Xc7111c_X3979"])

    def test_malformed_uids_are_named(self):
        for value in ("uid___A002_Xc7111c", "uid__A002_Xc7111c_X3979", "uid___A002/Xc7111c/X3979",
                      "29155786", "uid://A002/Xc7111c/X3979 ", "member.uid___A002_Xc7111c_X3979"):
            self.assertIsNone(canonical_uid(value), value)
            with self.assertRaises(ValueError) as caught:
                check_alma_uid(value, "eb_uids")
            self.assertIn("'eb_uids'", str(caught.exception))
            self.assertIn(value.strip(), str(caught.exception))


class TestDeliveryNames(unittest.TestCase):
    """``<project code>_<file-safe MOUS uid>``."""

    def test_published_example(self):
        self.assertEqual(parse_delivery_name("2017.1.00886.L_uid___A001_X1284_X265f"),
                         ("2017.1.00886.L", "uid://A001/X1284/X265f"))

    def test_other_project_kinds(self):
        self.assertEqual(parse_delivery_name("2019.A.00034.S_uid___A001_X1465_X1b4e")[0],
                         "2019.A.00034.S")
        self.assertEqual(parse_delivery_name("2022.1.01234.CSV_uid___A001_X2d1f_X2c3")[0],
                         "2022.1.01234.CSV")

    def test_unparsable_names_are_refused_naming_them(self):
        for name in ("2017.1.00886.L", "2017.1.00886.L_uid___A001_X1284",
                     "uid___A001_X1284_X265f", "2017.1.00886_uid___A001_X1284_X265f",
                     "2017.1.00886.L_uid://A001/X1284/X265f", "", None, 42):
            with self.assertRaises(ValueError) as caught:
                parse_delivery_name(name)
            self.assertIn("delivery name", str(caught.exception))
            if name:
                self.assertIn(str(name), str(caught.exception))
